"""The write side: plain async functions that change rows inside one transaction."""

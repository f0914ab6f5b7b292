"""Mutations, Relay style: one `input`, a payload with the object, `userErrors`, `clientMutationId`."""

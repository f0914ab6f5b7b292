"""The GraphQL layer: thin Strawberry types over loaders and the pagination module."""

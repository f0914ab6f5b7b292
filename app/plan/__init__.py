"""The planned execution path: GraphQL documents answered from compiled plans."""

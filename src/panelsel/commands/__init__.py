"""One module per command: each calls the layers below and returns a result the CLI renders."""

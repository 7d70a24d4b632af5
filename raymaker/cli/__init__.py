"""The ``raymaker`` command line: parses, calls the client, renders."""

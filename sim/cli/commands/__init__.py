"""One module per command, or per small family of commands: ``register(subparsers)`` adds
their parsers, and each ``cmd_*`` parses, calls the library, writes and prints."""

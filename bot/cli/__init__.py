"""The command line: `refbin` and its subcommands."""

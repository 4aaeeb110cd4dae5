"""Everything that does I/O: calendar providers, storage, mail, token encryption."""

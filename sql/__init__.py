"""The numbered migrations, as package data (see bot/db/)."""

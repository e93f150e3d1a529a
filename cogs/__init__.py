"""Discord extensions: one cog per user-facing capability."""

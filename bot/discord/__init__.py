"""The Discord client: the bot, its command tree, views and rendering."""

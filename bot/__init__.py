"""refbin: a URL shortener, paste bin and file/image host in one, driven from Discord."""

"""Document text: the plain text of stored files, for File.text and the search index."""

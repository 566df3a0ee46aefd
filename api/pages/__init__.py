"""The HTML pages for people: templates, their reads (oparl/pages) and routes."""

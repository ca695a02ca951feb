"""The editors' web app: a JSON API over the events table and the page that uses it."""

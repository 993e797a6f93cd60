"""The staff console: server-rendered pages under /console for the people of a clinic (docs/console.md)."""

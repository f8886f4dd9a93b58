"""Client summaries and assistant digests: gathered from the store, rendered, sent once per period."""

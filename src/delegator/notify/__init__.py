"""Where summaries and digests go: Asana (status update, comment, task), a Slack-compatible
webhook, email over SMTP. Each destination delivers one rendered message or raises
``DeliveryError`` with a message that never contains a secret."""

"""Small reusable widgets: they draw what the screens hand them (reactives, no I/O) and post what the user
chose (messages that carry their ``control``)."""

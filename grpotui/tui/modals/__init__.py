"""Modal dialogs any screen may open and import: a yes/no question, a line of text, a long text, the keys."""

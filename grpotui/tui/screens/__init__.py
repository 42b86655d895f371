"""The screens of the dashboard app, one a file."""

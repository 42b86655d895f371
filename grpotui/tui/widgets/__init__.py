"""Small reusable widgets of the dashboard."""

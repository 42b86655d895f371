"""Small reusable pieces of the dashboard."""

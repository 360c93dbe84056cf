"""What tfhook is told: settings, the serve flags and the routes file, checked."""

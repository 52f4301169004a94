"""Image and landmark measures shared by train and eval."""

"""The screens of the app, one a file; they never import each other: the app opens them by name
(:class:`grpotui.tui.navigation.Navigator`)."""

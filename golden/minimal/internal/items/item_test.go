package items

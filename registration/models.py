"""Lines, inventory and transactions arrive with the registration issue."""

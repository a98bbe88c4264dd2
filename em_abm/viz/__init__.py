"""The interactive dashboard (a Solara page); the model never imports this package."""

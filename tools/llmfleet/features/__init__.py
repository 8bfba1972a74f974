"""What the commands other than the check pipeline do: new-model, cost, diff, simulate, gateway routes, affected overlays."""

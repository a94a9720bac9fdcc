"""Platform adapters: each turns its requests into `Incoming` and renders `Reply` back."""

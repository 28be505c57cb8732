"""Networks (MLP, input features) and the trial functions that impose boundary values exactly."""

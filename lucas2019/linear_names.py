"""The linear-decoder models' objective and encoder names (torch-free, so that the figures and
their verdicts can read them without PyTorch)."""

#: how the expected log-likelihood is computed: in closed form, or from reparameterised samples
OBJECTIVES = ("analytic", "stochastic")
#: the encoders of a linear decoder, in the order Figure 4 draws them
ENCODERS = ("linear", "deep_linear", "mlp")

"""Model families; each model is a `gen.train.model.Model` built from its config."""

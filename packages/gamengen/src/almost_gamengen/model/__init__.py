"""The world model: the diffusion UNet, the frame VAE, the latent store, sampling, the
action-sensitivity probe and the frame metrics."""

"""almost-ddpo: RLHF for diffusion models on personal hardware.

Stages (``almost stages --plugin ddpo``): ``pretrain`` (tiny model, or the user's SD folder) →
``generate`` → ``score`` (local web page or an automatic rater) → ``reward`` (latent CNN) →
``policy`` (DDPO with a LoRA) → ``export`` (diffusers/peft and kohya LoRA). Running the pipeline
again starts the next round from the last LoRA.
"""

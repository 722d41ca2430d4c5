"""The ddpo pipeline stages, one file each: pretrain, generate, score, reward, policy, export."""

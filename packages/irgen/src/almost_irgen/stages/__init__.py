"""The irgen stages, one file each: synth → prepare → train → evaluate → export."""

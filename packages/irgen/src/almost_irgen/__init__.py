"""almost-irgen: Unity IR behaviour specs → C# MonoBehaviours with a LoRA-tuned local LLM.

Import ``almost_irgen.ir`` (schema, validator), ``almost_irgen.rules`` (reference
generator), ``almost_irgen.csharp`` (compile checks); the stages live in ``stages/``.
"""

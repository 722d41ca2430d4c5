"""An Ollama Modelfile whose TEMPLATE and stop tokens come from the model's own chat template.

The Jinja chat template is rendered on marker strings: with a system turn, without one, and with
an answer, and the text between the markers becomes the Go template's fixed parts:

    {{ if .System }}<before system>{{ .System }}<between>{{ else }}<before user>{{ end }}{{ .Prompt }}<after user>{{ .Response }}<after answer>

so ChatML, Llama 3, OLMo, Gemma (which folds the system text into the user turn) and Mistral
all come out as their own format. A leading BOS that llama.cpp adds by itself is dropped. The stop
tokens are the special tokens in the text after an answer plus every end-of-sequence id.
"""

from __future__ import annotations

SYS, USER, ANSWER = "\x01SYSTEM\x01", "\x01PROMPT\x01", "\x01ANSWER\x01"


def _render(tok, msgs, gen: bool) -> str:
    return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)


def template_parts(tok) -> dict:
    """The fixed strings around system, prompt and answer in ``tok``'s chat template."""
    user = [{"role": "user", "content": USER}]
    no_sys = _render(tok, user, True)
    p0, t0 = no_sys.split(USER)
    try:
        with_sys = _render(tok, [{"role": "system", "content": SYS}, *user], True)
    except Exception:  # templates that refuse a system turn
        with_sys = None
    if with_sys is not None and SYS in with_sys:
        p1, rest = with_sys.split(SYS)
        m1, t1 = rest.split(USER)
    else:
        p1 = m1 = None
        t1 = t0
    full = _render(tok, [*user, {"role": "assistant", "content": ANSWER}], False)
    after = full.split(ANSWER)[1]
    bos = getattr(tok, "bos_token", None)
    adds_bos = bool(bos) and tok("a")["input_ids"][:1] == [tok.bos_token_id]
    if adds_bos:  # llama.cpp adds BOS itself: a BOS in the template would double it
        p0 = p0[len(bos):] if p0.startswith(bos) else p0
        p1 = p1[len(bos):] if p1 is not None and p1.startswith(bos) else p1
    return {"p0": p0, "p1": p1, "m1": m1, "t": t1, "after": after}


def go_template(tok) -> str:
    d = template_parts(tok)
    sys_part = (f"{{{{ if .System }}}}{d['p1']}{{{{ .System }}}}{d['m1']}{{{{ else }}}}{d['p0']}{{{{ end }}}}"
                if d["p1"] is not None else d["p0"])
    return f"{sys_part}{{{{ .Prompt }}}}{d['t']}{{{{ .Response }}}}{d['after']}"


def stop_tokens(tok, eos: list[int]) -> list[str]:
    after = template_parts(tok)["after"]
    marks = {*tok.all_special_tokens, *tok.get_added_vocab()}
    specials = [t for t in marks if t and t in after]
    if after.strip() and after.strip() in tok.get_vocab():  # e.g. Gemma's <end_of_turn>, a vocabulary entry
        specials.append(after.strip())
    words = specials + [tok.convert_ids_to_tokens(int(i)) for i in eos]
    return [w for w in dict.fromkeys(words) if w]


def render_go(template: str, system: str | None, prompt: str, response: str | None = None) -> str:
    """Fill the subset of Go template syntax that :func:`go_template` writes (for tests and previews).

    With no ``response`` the text stops where the answer would start, as Ollama renders a prompt."""
    if response is None:
        template = template.split("{{ .Response }}")[0] + "{{ .Response }}"
        response = ""
    if "{{ if .System }}" in template:
        pre, rest = template.split("{{ if .System }}", 1)
        yes, rest = rest.split("{{ else }}", 1)
        no, rest = rest.split("{{ end }}", 1)
        template = pre + (yes if system else no) + rest
    return (template.replace("{{ .System }}", system or "").replace("{{ .Prompt }}", prompt)
            .replace("{{ .Response }}", response))


def modelfile(tok, gguf_name: str, system: str, eos: list[int]) -> str:
    tpl = go_template(tok).replace('"""', '\\"\\"\\"')
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{tpl}"""', f'SYSTEM """{system}"""']
    lines += [f'PARAMETER stop "{s}"' for s in stop_tokens(tok, eos)]
    lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"

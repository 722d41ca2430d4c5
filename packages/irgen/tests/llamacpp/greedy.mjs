// llama.cpp (node-llama-cpp's prebuilt CPU binary) on one GGUF file, for irgen's tests.
//
// Reads one JSON request on stdin:
//   {"model": PATH, "ids": [prompt token ids], "steps": N, "text": STRING, "chat": [{role, content}],
//    "generate": STRING, "system": STRING, "wrappers": ["auto", "jinja"], "max_tokens": N}  (each part optional)
// and writes one JSON answer on stdout:
//   greedy     N tokens after "ids", argmax at every step (temperature 0, no penalties, end tokens included)
//   top        per step, the "top" (default 5) most likely [token, probability] pairs
//   tokenized  llama.cpp's own tokens for "text" (no BOS, special tokens parsed)
//   wrapper    the name of the chat wrapper node-llama-cpp resolves from the file's Jinja template
//   rendered   "chat" rendered by that wrapper with the assistant turn left open; rendered_ids: its tokens
//   jinja      the same rendered by the file's Jinja template itself; jinja_ids: its tokens
//   answers    with "generate": {wrapper kind: the greedy answer of a chat session to that prompt}, for
//              each of "wrappers" (default ["auto"]; "jinja" = the file's own template)
import { getLlama, LlamaChatSession, LlamaLogLevel, resolveChatWrapper, SpecialTokensText } from "node-llama-cpp";

const req = JSON.parse(await new Promise((ok) => {
    let s = "";
    process.stdin.on("data", (d) => { s += d; });
    process.stdin.on("end", () => ok(s));
}));
const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
const out = { arch: model.fileInfo.metadata.general.architecture };

function history(chat) {
    const items = chat.map((m) => m.role === "system" ? { type: "system", text: m.content }
        : m.role === "user" ? { type: "user", text: m.content } : { type: "model", response: [m.content] });
    return [...items, { type: "model", response: [] }];  // the open assistant turn, as LlamaChat renders it
}

// a LlamaText as the string a template writes: plain text, special-token text as written, BOS/EOS as the vocab spells them
function textOf(llamaText) {
    return llamaText.values.map((v) => typeof v === "string" ? v : v instanceof SpecialTokensText ? v.value
        : model.detokenize(v.tokenize(model.tokenizer), true)).join("");
}

const wrapper = resolveChatWrapper(model, { warningLogs: false });
out.wrapper = wrapper.wrapperName;
out.wrapper_class = wrapper.constructor.name;
if (req.chat) {
    const { contextText } = wrapper.generateContextState({ chatHistory: history(req.chat) });
    out.rendered = textOf(contextText);
    out.rendered_ids = contextText.tokenize(model.tokenizer);
    // the file's own Jinja template, as llama.cpp's --jinja renders it
    const jinja = resolveChatWrapper(model, { type: "jinjaTemplate", warningLogs: false });
    const state = jinja.generateContextState({ chatHistory: history(req.chat) });
    out.jinja = textOf(state.contextText);
    out.jinja_ids = state.contextText.tokenize(model.tokenizer);
}
if (req.text !== undefined)
    out.tokenized = model.tokenize(req.text, true);
if (req.ids) {
    const context = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
    const seq = context.getSequence();
    const k = req.top ?? 5;
    out.greedy = [];
    out.top = [];  // per step: [[token, probability], ...] of the k most likely tokens
    const meta = { probabilities: true };
    for await (const t of seq.evaluateWithMetadata(req.ids, meta, { temperature: 0, yieldEogToken: true })) {
        out.greedy.push(t.token);
        out.top.push([...t.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, k));
        if (out.greedy.length >= req.steps) break;
    }
    await context.dispose();
}
if (req.generate !== undefined) {  // through LlamaChatSession, once per wrapper: "auto" (resolved) and "jinja"
    out.answers = {};
    for (const kind of req.wrappers ?? ["auto"]) {
        const chatWrapper = kind === "jinja" ? resolveChatWrapper(model, { type: "jinjaTemplate", warningLogs: false })
            : wrapper;
        const context = await model.createContext({ contextSize: 2048, sequences: 1, threads: 1 });
        const session = new LlamaChatSession({ contextSequence: context.getSequence(), chatWrapper,
            systemPrompt: req.system ?? "" });
        out.answers[kind] = await session.prompt(req.generate, { temperature: 0, maxTokens: req.max_tokens ?? 512 });
        await context.dispose();
    }
}
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out) + "\n");

"""The model side: what is sent to a model and how its streamed reply is read.

llm          the ChatModel protocol and the Chat Completions adapter
responses    the Responses API adapter, and which models reason
openai_client  what both share: the guarded SDK client, one streamed request; SDK errors are translated here only
wire         a conversation in the form one server is sent on Chat Completions (its own fields back to it alone), each
             request starting from the last one's while the conversation only grows
responses_input  a conversation as the Responses API is sent it (reasoning items back to their server alone)
kept         what requests make of each message (its wire form), kept from one request to the next
body         a request's body as JSON bytes, each message's text kept from one request to the next
sse_guard    the decoder the SDK reads a stream through, guarded against hostile streams
assembly     a reply assembled from streamed chunks, however a server streams them
responses_stream  a reply assembled from the Responses API's events; a failure in them as the same over HTTP
thinking     reasoning told apart from the answer (`<think>` blocks)
tool         the one function tool offered, `execute`, and reading the model's calls of it
fences       fenced code blocks in an answer, for servers without function calling
vision       which models take images, and a figure as an image part
pictures     pictures the person attaches to a task: checked by their bytes, scaled where Pillow is, read when sent
context      the context window and trimming what is sent to fit it
catalogue    each model's window and prices, and where they came from (settings, server, genai-prices, names)
server_reports  what a recognised server says of a model it serves: its window, and (OpenRouter, LiteLLM) prices
price_list   genai-prices' bundled list, read for one model (imported off the main thread, once a request is out)
prices       what tokens cost: a model's prices and a request's cost
identity     which server answers, from its model list, headers and error shapes (doctor's too)
answer       one plain HTTP request's answer, read as doctor and the catalogue read it
local_servers  the model servers people run on their own machine, and which of them answers (`--local`)
system_prompt  the tool's own short system message
instructions  the whole system message: the tool's own, the person's standing instructions, the AGENTS.md files
project_instructions  the AGENTS.md files from the repository root down to the working directory, cut to 32 KiB
api_choice   which API a model is asked on (Chat Completions or Responses), and the switch when one refuses it
refusals     what a refusal says about the API and the reasoning effort (the server's words)
remembered   the switches to the Responses API, kept in the home (`responses.json`): the one owner of that file

May import `errors`, `messages`, `trust`, `settings`, three pure pieces of `resilience` (`bodies`, `diagnostics`,
`limiter`), `execution.figures`, `ui.words` and `conversation.locks` (its atomic write); never the session, the screen
or the command line. (`resilience` wraps `llm`'s models in turn: the pieces named here import nothing of `model` but
`vision`.)
"""

// The Node `openai` SDK against Covey: node node_sdk.cjs BASE_URL KEY MODEL; prints what it saw as JSON.
const OpenAI = require("openai");

async function main() {
  const [baseURL, apiKey, model] = process.argv.slice(2);
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const seen = {};

  const chat = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Hello from Node" }],
  });
  seen.chat = chat.choices[0].message.content;
  seen.chat_cost = chat.usage.cost;

  const answer = await client.responses.create({ model, input: "Hello from Node", store: false });
  seen.responses = answer.output_text;
  const stream = client.responses.stream({ model, input: "Hello from Node" });
  seen.responses_streamed = (await stream.finalResponse()).output_text;

  const weather = {
    type: "function",
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  };
  const asked = [{ role: "user", content: "Weather in Oslo?" }];
  const first = await client.responses.create({ model, input: asked, tools: [weather] });
  const call = first.output.find((item) => item.type === "function_call");
  seen.tool_call = call.name;
  const second = await client.responses.create({
    model,
    tools: [weather],
    input: [...asked, call, { type: "function_call_output", call_id: call.call_id, output: "Sunny" }],
  });
  seen.after_tool = second.output_text;

  // A stored response continued, read back and deleted.
  const kept = await client.responses.create({ model, input: "Remember Node" });
  const next = await client.responses.create({ model, input: "What did I ask?", previous_response_id: kept.id });
  seen.continued = next.previous_response_id === kept.id;
  seen.retrieved = (await client.responses.retrieve(kept.id)).output_text === kept.output_text;
  await client.responses.delete(kept.id);
  try {
    await client.responses.retrieve(kept.id);
  } catch (error) {
    seen.after_delete = error instanceof OpenAI.NotFoundError ? error.status : String(error);
  }

  const embeddingModel = model.replace(/\/[^/]+$/, "/text-embedding-3-small");
  const floats = await client.embeddings.create({ model: embeddingModel, input: "vector", encoding_format: "float" });
  const byDefault = await client.embeddings.create({ model: embeddingModel, input: "vector" });
  seen.float_vector = floats.data[0].embedding;
  seen.base64_vector = Array.from(byDefault.data[0].embedding);

  try {
    await new OpenAI({ baseURL, apiKey: "cvy_wrong", maxRetries: 0 }).models.list();
  } catch (error) {
    seen.auth_error = error instanceof OpenAI.AuthenticationError ? error.status : String(error);
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

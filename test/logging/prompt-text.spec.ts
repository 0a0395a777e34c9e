import { readPrompt } from '../../src/monitoring/llm-usage/llm-response-reader';

describe('readPrompt (opt-in prompt capture)', () => {
  it('reads OpenAI chat messages, including content parts', () => {
    expect(
      readPrompt({
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in' },
              { type: 'image_url', image_url: { url: 'x' } },
              { type: 'text', text: 'this image?' },
            ],
          },
        ],
      }),
    ).toBe('system: Be brief.\nuser: What is in\nthis image?');
  });

  it('reads the Responses API instructions and input', () => {
    expect(readPrompt({ model: 'gpt-4o', instructions: 'Be brief.', input: 'Hi' })).toBe(
      'system: Be brief.\nuser: Hi',
    );
    expect(
      readPrompt({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hello' }] }] }),
    ).toBe('user: Hello');
  });

  it('reads Anthropic system (string or blocks) and messages', () => {
    expect(
      readPrompt({
        model: 'claude-3-5-sonnet',
        system: [{ type: 'text', text: 'You are terse.' }],
        messages: [
          { role: 'user', content: 'Say hello' },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] },
        ],
      }),
    ).toBe('system: You are terse.\nuser: Say hello\nassistant: Hello');
  });

  it('takes a plain string argument as the prompt, and finds none elsewhere', () => {
    expect(readPrompt('complete this')).toBe('complete this');
    expect(readPrompt({ model: 'x' })).toBeUndefined();
    expect(readPrompt(undefined)).toBeUndefined();
  });
});

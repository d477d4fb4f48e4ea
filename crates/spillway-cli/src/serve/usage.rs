//! What a call really used, read from the upstream's answer: the `usage` object of a JSON
//! body, or of the last SSE chunk that carries one. Without it, a stream (without
//! `stream_options.include_usage`) has every chunk with choices counted as one token (the
//! usual granularity of OpenAI streams). That count includes the chunk that only names the
//! role and the one that only carries `finish_reason`: about 2 tokens more than written per
//! call, an over-count (the limit errs on the safe side) kept rather than parsing every delta.
//! A whole JSON answer without it is booked at the output estimate it was reserved for: its
//! one `choices` array says nothing of its length, and counting it as one token would let
//! long answers through a token limit almost free.

use serde_json::Value;

/// Usage found so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, if reported.
    pub input: Option<u64>,
    /// Completion tokens, if reported.
    pub output: Option<u64>,
    /// SSE chunks with choices seen (role-only and finish-only chunks included).
    pub chunks: u64,
}

impl Usage {
    /// Read `usage` from a JSON object.
    pub fn observe(&mut self, value: &Value) {
        if value
            .get("choices")
            .is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty()))
        {
            self.chunks += 1;
        }
        let Some(usage) = value.get("usage").filter(|u| u.is_object()) else {
            return;
        };
        let number = |k: &str| usage.get(k).and_then(Value::as_u64);
        if let Some(n) = number("prompt_tokens") {
            self.input = Some(n);
        }
        if let Some(n) = number("completion_tokens") {
            self.output = Some(n);
        }
    }

    /// Prompt and completion tokens of a stream: as reported, else `input_estimate` and the
    /// counted chunks.
    pub fn streamed_tokens(&self, input_estimate: u64) -> (u64, u64) {
        self.tokens_or(input_estimate, self.chunks)
    }

    /// Prompt and completion tokens of a whole answer: as reported, else the estimates the
    /// call was reserved for (not the chunks: a whole answer has one, however long).
    pub fn whole_tokens(&self, input_estimate: u64, output_estimate: u64) -> (u64, u64) {
        self.tokens_or(input_estimate, output_estimate)
    }

    fn tokens_or(&self, input: u64, output: u64) -> (u64, u64) {
        (self.input.unwrap_or(input), self.output.unwrap_or(output))
    }
}

/// Reads an SSE stream as it passes: complete `data:` lines are parsed, the rest is kept.
#[derive(Debug, Default)]
pub struct SseUsage {
    line: Vec<u8>,
    /// What was found.
    pub usage: Usage,
    /// Whether the stream's `data: [DONE]` event went by, its closing blank line included: the
    /// answer is whole (its usage chunk, if asked for, came before it), whatever happens to
    /// the connection after. (Ended before that blank line, a client following the SSE rules
    /// would drop the unterminated event, `[DONE]` with it.)
    pub done: bool,
    /// `data: [DONE]` went by; its event's blank line has not yet.
    done_data: bool,
}

/// Longest line kept (a longer one is skipped: usage chunks are small).
const MAX_LINE: usize = 1 << 16;

impl SseUsage {
    /// Feed the next bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.line_done();
            } else if self.line.len() < MAX_LINE {
                self.line.push(b);
            }
        }
    }

    fn line_done(&mut self) {
        let line = std::mem::take(&mut self.line);
        if self.done_data && line.trim_ascii().is_empty() {
            self.done = true;
            return;
        }
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        if data.trim_ascii() == b"[DONE]" {
            self.done_data = true;
            return;
        }
        if let Ok(value) = serde_json::from_slice::<Value>(data.trim_ascii()) {
            self.usage.observe(&value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_is_a_whole_done_line_and_then_its_blank_line() {
        let mut sse = SseUsage::default();
        sse.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"[DONE]\"}}]}\n\ndata: [DO");
        assert!(!sse.done, "a delta's text or half a line is not the end");
        sse.feed(b"NE]\n");
        assert!(!sse.done, "the event is not over before its blank line");
        sse.feed(b"\r\n");
        assert!(sse.done);
    }

    #[test]
    fn usage_comes_from_the_final_chunk_even_when_split_across_reads() {
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n\
            data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n\
            data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2}}\n\n\
            data: [DONE]\n\n";
        let mut sse = SseUsage::default();
        for piece in stream.as_bytes().chunks(7) {
            sse.feed(piece);
        }
        assert_eq!(sse.usage.streamed_tokens(99), (12, 2));
        assert_eq!(sse.usage.chunks, 2);
    }

    #[test]
    fn without_usage_the_chunks_are_counted() {
        let mut sse = SseUsage::default();
        sse.feed(
            b"data: {\"choices\":[{\"delta\":{}}]}\n\ndata: {\"choices\":[{\"delta\":{}}]}\n\n",
        );
        assert_eq!(sse.usage.streamed_tokens(5), (5, 2));
    }

    #[test]
    fn a_whole_answer_without_usage_is_its_estimates_not_its_one_chunk() {
        let mut usage = Usage::default();
        usage.observe(&serde_json::json!({"choices": [{"message": {"content": "long"}}]}));
        assert_eq!(usage.chunks, 1);
        assert_eq!(usage.whole_tokens(5, 4000), (5, 4000));
        usage
            .observe(&serde_json::json!({"usage": {"prompt_tokens": 7, "completion_tokens": 900}}));
        assert_eq!(usage.whole_tokens(5, 4000), (7, 900));
    }
}

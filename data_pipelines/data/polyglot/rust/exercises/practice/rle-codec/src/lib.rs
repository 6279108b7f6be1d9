pub fn encode(text: &str) -> String {
    todo!("run-length encode {text:?}")
}

pub fn decode(text: &str) -> Option<String> {
    todo!("run-length decode {text:?}")
}

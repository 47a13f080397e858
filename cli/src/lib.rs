//! `latchkey`: the local gateway (`latchkey serve`) and the admin commands, over either
//! store (`--store sqlite:PATH` or `--store dynamodb:TABLE`).

pub mod gateway;
pub mod nango;

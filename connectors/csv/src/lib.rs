//! CSV connector (in progress)

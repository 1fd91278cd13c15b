pub mod api_keys;
pub mod companies;
pub mod connections;
pub mod integrations;
pub mod link;
pub mod profile;
pub mod webhooks;

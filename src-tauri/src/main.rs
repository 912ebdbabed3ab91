fn main() { backstage_inspector_app::run() }

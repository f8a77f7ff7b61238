export { ExpositionParser, ExpositionParseError, EntryKind, type ExpositionParserOptions, type ParsedExemplar } from './parser.js';
export { formatFromContentType, SCRAPE_ACCEPT_HEADER, type ExpositionFormat } from './format.js';
export { ownString } from './text-scan.js';

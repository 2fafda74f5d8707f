export { main, cliVersion } from './main.js';
export { Context, isLoopbackHost, type MainIO, type GlobalOptions } from './context.js';
export { parseArgs, formatFlagHelp, flagBool, flagInt, flagList, flagString, type FlagSpec, type FlagType, type ParsedArgs, type ParseOptions } from './args.js';
export { COMMANDS, GROUPS, findCommand, type CommandSpec, type Run } from './commands.js';
export { CliError, UsageError, NoSuchObjectError, AmbiguousIdError, TemplateError } from './errors.js';
export { parseTemplate, renderTemplate, formatValue, type Template } from './template.js';
export { tabwrite, renderList, renderQuiet, renderInspect, expandEscapes, type ListFormat } from './format.js';
export { humanSize, humanDuration, since, shortId, ellipsis } from './units.js';
export { progressBar, LineDisplay, PullProgress, PushProgress, ArchiveProgress, type ProgressOutput, type PullSummary } from './progress.js';

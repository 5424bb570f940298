'use strict';
// Stands in for `xml2js` (0.6.x) in the Worker bundle (see build/shims/README.md): the same exports from the same
// xml2js files, except Builder, whose xmlbuilder dependency is ~150 KB. jsforce's browser build only parses XML
// (HttpApi.parseResponseBody calls xml2js.parseStringPromise for text/xml and application/xml answers); nothing in
// the Worker builds XML with xml2js (src/crm/salesforce/metadata-soap.ts writes its own envelopes).
var defaults = require('xml2js/lib/defaults');
var parser = require('xml2js/lib/parser');
var processors = require('xml2js/lib/processors');

exports.defaults = defaults.defaults;
exports.processors = processors;

// As in xml2js/lib/xml2js.js (CoffeeScript's class extension, verbatim).
var hasProp = {}.hasOwnProperty;
var extend = function (child, parent) { for (var key in parent) { if (hasProp.call(parent, key)) child[key] = parent[key]; } function ctor() { this.constructor = child; } ctor.prototype = parent.prototype; child.prototype = new ctor(); child.__super__ = parent.prototype; return child; };
exports.ValidationError = (function (superClass) {
  extend(ValidationError, superClass);
  function ValidationError(message) {
    this.message = message;
  }
  return ValidationError;
})(Error);

exports.Builder = function Builder() {
  throw new Error('xml2js.Builder is not in this bundle (build/shims/xml2js.cjs): build XML without xml2js, or remove the xml2js alias from wrangler.toml');
};

exports.Parser = parser.Parser;
exports.parseString = parser.parseString;
exports.parseStringPromise = parser.parseStringPromise;

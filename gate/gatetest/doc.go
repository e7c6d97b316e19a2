// Package gatetest provides fakes of the gate interfaces for the adapters'
// tests, in the style of net/http/httptest: function fields that each test
// sets to what it needs.
package gatetest
